"""offhost-audit: policy-as-code compliance auditor for Veeam Hyper-V off-host backup proxies."""

__version__ = "0.1.0"
__url__ = (
    "https://github.com/offhost-audit/offhost-audit"  # pyproject.toml [project.urls] Homepage (a test keeps them equal)
)
