"""Tests of app.core.media: real images, PDFs, decks, documents, videos and archives, good and hostile."""
