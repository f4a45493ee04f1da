"""In-notebook views: the comparison widget and its charts. Imported only when used."""
