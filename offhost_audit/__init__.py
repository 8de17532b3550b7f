"""offhost-audit: policy-as-code compliance auditor for Veeam Hyper-V off-host backup proxies."""

__version__ = "0.1.0"
