# Directory deploy from Python: every .py file under examples/apps that defines main() is an
# application at its path (apps/reports/quarterly.py at /reports/quarterly); folders answer
# with a list of what they hold. The same as `pywry path-deploy examples/apps`.
# Run: python examples/path_deploy.py   (then open http://127.0.0.1:8080/)
# Needs: pip install 'pywry-server[fastapi]'
import os
from pathlib import Path

import pywry

os.environ.setdefault("PYWRY_SERVER__HOST", "127.0.0.1")
os.environ.setdefault("PYWRY_SERVER__PORT", "8080")

if __name__ == "__main__":
    # host="" and port=0 leave them to the settings above (PYWRY_SERVER__HOST / PORT)
    pywry.path_deploy(Path(__file__).parent / "apps")
