"""The service side: what ``dc43 serve`` runs next to its database.

``tables`` and ``migrations`` define the storage (SQLAlchemy 2, Alembic), ``database`` opens it,
the ``*_store`` modules keep contracts, governance records and data products in it, the
``*_api`` modules expose them over HTTP (FastAPI) and ``app`` assembles them with auth and
limits; ``server`` runs it on uvicorn and ``importing`` brings a local governance database in.
Nothing here runs in a pipeline: pipelines reach it through the ``http`` plugin's clients.
"""
