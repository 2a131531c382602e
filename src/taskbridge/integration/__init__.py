"""The external contract of ``spec/integration-api.md``: what integrators program against."""
