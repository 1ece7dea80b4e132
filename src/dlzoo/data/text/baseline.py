"""The classical baseline beside every text result: TF-IDF and a logistic regression.

Word counts, TF-IDF weighted, are what a linear classifier has long done well on topic
classification (0.97 - 0.99 test accuracy on BBC News, by seed, in under a second): a
net that needs minutes to train should beat it, or at least come close.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

__all__ = ["tfidf_logreg_accuracy"]


def tfidf_logreg_accuracy(
    train_texts: Sequence[str],
    y_train: np.ndarray,
    test_texts: Sequence[str],
    y_test: np.ndarray,
    seed: int = 0,
) -> float:
    """Test accuracy of TF-IDF features and a logistic regression, both fitted on the
    training documents only.

    Features: the words seen in at least 2 training documents (1 where there are fewer
    than 10 documents), log-scaled counts (``sublinear_tf``), IDF weighted, each
    document L2-normalised (word pairs too scored the same on BBC News, five times
    slower). The regression is multinomial with weak
    regularisation (C = 10: TF-IDF features are many and small, so the default C = 1
    underfits).

    Args:
        train_texts: the training documents (preprocessed, as the net saw them).
        y_train: their class indices.
        test_texts: the test documents.
        y_test: their class indices.
        seed: seeds the solver.

    Shapes:
        - y_train: (N,), y_test: (M,) ints
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(
        sublinear_tf=True,
        min_df=2 if len(train_texts) >= 10 else 1,
        # one-letter words count too ("a", "0" for numbers)
        token_pattern=r"(?u)\b\w+\b",
    )
    x_train = vectorizer.fit_transform(train_texts)
    model = LogisticRegression(C=10.0, max_iter=1000, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, np.asarray(y_train))
    predicted = model.predict(vectorizer.transform(test_texts))
    return float((predicted == np.asarray(y_test)).mean())
