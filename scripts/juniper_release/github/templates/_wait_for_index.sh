python - <<'PY'
import os
import sys
import time
import urllib.error
import urllib.request

url = os.environ["INDEX_SIMPLE_URL"].rstrip("/") + "/@PROJECT_SLUG@/"
wheel, deadline = os.environ["WHEEL"], time.monotonic() + 900
attempts, delay = int(os.environ.get("POLL_ATTEMPTS", "30")), float(os.environ.get("POLL_DELAY", "5"))
for attempt in range(1, attempts + 1):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            if wheel in response.read().decode("utf-8", "replace"):
                print(f"{url} serves {wheel} (attempt {attempt})")
                sys.exit(0)
    except urllib.error.URLError as exc:
        print(f"attempt {attempt}: {url}: {exc}")
    if attempt == attempts or time.monotonic() + delay > deadline:
        break
    print(f"attempt {attempt}: {wheel} not served yet, retrying in {delay:.0f}s")
    time.sleep(delay)
    delay = min(delay * 2, 60.0)
sys.exit(f"::error::{url} did not serve {wheel} after {attempt} attempts. Fix: check the upload step's log")
PY
