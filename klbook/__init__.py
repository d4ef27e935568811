"""klbook: the helper package of *The Kullback–Leibler Divergence, with Proofs That Run*.

The top level holds the discrete core; topics live in their own modules:

* :mod:`klbook.discrete` — entropy, cross-entropy, KL divergence of discrete distributions;
* :mod:`klbook.special` — accurate elementwise kernels (``log1pmx``);
* :mod:`klbook.symmetric` — Jeffreys and Jensen–Shannon divergences;
* :mod:`klbook.gaussian_fit` — forward and reverse KL fits of a Gaussian to a 1-D mixture;
* :mod:`klbook.continuous` — closed forms between parametric families (normal, gamma, ...);
* :mod:`klbook.distributions` — distribution objects and the closed-form dispatch by type pair;
* :mod:`klbook.montecarlo` — the k1, k2, k3 estimators and quadrature checks;
* :mod:`klbook.conditioning` — the condition number of the divergence.
"""

from klbook.discrete import cross_entropy, entropy, kl_divergence
from klbook.empirical import empirical_distribution, log_likelihood
from klbook.logits import softmax_cross_entropy, softmax_kl_divergence
from klbook.symmetric import jeffreys_divergence, js_divergence

__all__ = ["entropy", "cross_entropy", "kl_divergence", "jeffreys_divergence", "js_divergence"]
__all__ += ["empirical_distribution", "log_likelihood",
            "softmax_cross_entropy", "softmax_kl_divergence"]
from klbook.continuous import (kl_bernoulli, kl_beta, kl_exponential, kl_gamma, kl_mvnormal,
                               kl_normal, kl_poisson)
from klbook.distributions import kl_closed_form
from klbook.montecarlo import kl_monte_carlo

__all__ += ["kl_normal", "kl_mvnormal", "kl_bernoulli", "kl_poisson", "kl_exponential",
            "kl_gamma", "kl_beta", "kl_closed_form", "kl_monte_carlo"]
__version__ = "0.1.0"
