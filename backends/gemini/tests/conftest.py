# The contract kit is opt-in: this is how a backend's suite turns it on.
pytest_plugins = ["tuneport_contract.plugin"]
