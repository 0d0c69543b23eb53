"""The PySide6 window. Importing this package first protects the process from a binding defect (see
``qt_compat``)."""

from app.ui.qt_compat import keep_none_alive

keep_none_alive()
