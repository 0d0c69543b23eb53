"""Tests of app.core: no Qt window needed, except where a core table is checked through Qt's own file dialog."""
