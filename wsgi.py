"""WSGI entry point: gunicorn -c config/gunicorn.conf.py wsgi:app"""

from flux_recon import create_app

app = create_app()
