"""The external contract of ``docs/integration-api.md``: what integrators program against."""
