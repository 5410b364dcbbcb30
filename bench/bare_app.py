"""The ingest baseline: a minimal Flask app with one JSON POST endpoint.

Served by the same gunicorn configuration and loaded by the same wrk script as the real
webhook endpoint, it is the ceiling: what Flask and gunicorn cost with no work at all.
"""

from flask import Flask, jsonify, request

app = Flask(__name__)
answered = 0  # per worker: the memory benchmark stops its load after so many


@app.post("/webhook")
def webhook():
    global answered
    answered += 1
    payload = request.get_json()
    return jsonify({"status": "accepted", "transactionRef": payload.get("transactionRef")})


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.get("/count")
def count():
    return {"answered": answered}
