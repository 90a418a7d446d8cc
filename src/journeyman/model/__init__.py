"""Pure values: nothing here imports the store, the channels or the API."""
