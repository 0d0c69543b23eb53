"""The PySide6 window: everything a person sees. Imports only app.core below it."""
