"""The Rego engines: ``embedded`` (regorus, the default) and ``opa`` (OPA's Go engine in process)."""

ENGINES = ("embedded", "opa")
