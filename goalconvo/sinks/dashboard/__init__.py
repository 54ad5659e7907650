"""The live dashboard: a loopback web page over the corpus (``goalconvo dashboard``)."""
