"""Telling the world outside: reader servers (Komga, Kavita) rescan, and people get notifications.

Nothing here is on the pipeline's path: changes are noted in memory and sent from threads of
their own, so a slow or absent server never holds up processing.
"""
