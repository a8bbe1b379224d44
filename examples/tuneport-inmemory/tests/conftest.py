# Opt in to the contract kit.
pytest_plugins = ["tuneport_contract.plugin"]
