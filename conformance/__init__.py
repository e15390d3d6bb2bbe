"""mta-conformance: conformance suite and NDR linter for the bounce behaviour of mail servers.

PYTEST_DONT_REWRITE: the pytest plugin asserts nothing pytest should rewrite, and the
command line imports this package before it starts pytest.
"""
