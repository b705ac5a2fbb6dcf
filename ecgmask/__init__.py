"""ecgmask: SimCLR pretraining of 12-lead ECGs with adversarial masking (Bo et al., ML4H 2022)."""

__version__ = "0.1.0"
