"""The service layer under the command line, the API, the dashboard and the reports.

One place parses and validates what a user asks (``queries``), runs it within the
caller's scope and caches it per data version (``runtime``), and imports files through
one pipeline whose after-write steps keep every derived table current (``imports``).
The front ends above it only translate their own input and output.
"""
