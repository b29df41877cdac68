"""One host application per framework, all serving the same widgets, for the conformance tests."""

PARTNER = "https://partner.example"  # an origin every host lets in (its adapter's option)
