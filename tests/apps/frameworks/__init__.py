"""One host application per framework, all serving the same widgets, for the conformance tests."""
