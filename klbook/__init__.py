"""klbook: the helper package of *The Kullback–Leibler Divergence, with Proofs That Run*.

The top level holds the discrete core; topics live in their own modules:

* :mod:`klbook.discrete` — entropy, cross-entropy, KL divergence of discrete distributions;
* :mod:`klbook.special` — accurate elementwise kernels (``log1pmx``).
"""

from klbook.discrete import cross_entropy, entropy, kl_divergence
from klbook.empirical import empirical_distribution, log_likelihood
from klbook.logits import softmax_cross_entropy, softmax_kl_divergence

__all__ = ["entropy", "cross_entropy", "kl_divergence"]
__all__ += ["empirical_distribution", "log_likelihood",
            "softmax_cross_entropy", "softmax_kl_divergence"]
__version__ = "0.1.0"
