"""The dashboard: pages (what each shows), views, charts and their fr/en words."""
