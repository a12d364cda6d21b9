-- wrk: POST the same small JSON body knee's generic target sends by default.
wrk.method = "POST"
wrk.body = '{"id": 1, "input": "Write one sentence about concurrency.", "max_tokens": 16}'
wrk.headers["Content-Type"] = "application/json"
