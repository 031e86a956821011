"""The REST API's routes: thin handlers over the service layer (``cxkpi.service``)."""
