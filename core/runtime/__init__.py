"""Runtime infrastructure the apps build on: database access from the event loop, the channel layer, the server and its bounds."""
