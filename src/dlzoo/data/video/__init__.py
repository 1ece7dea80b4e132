"""5-D video data ``(N, T, C, H, W)``: generated moving digits and a user's clips."""
