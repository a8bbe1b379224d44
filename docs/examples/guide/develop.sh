pip install -e ".[test]"  # the backend and its entry point; tuneport, tuneport-contract, pytest
pytest                    # the unit tests, then the contract kit
