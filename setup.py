"""Package metadata for flux-recon and the provider plugins shipped with it."""

from setuptools import find_packages, setup

# The shipped provider plugins live under plugins/ and are installed as top-level
# packages, found through the "flux_recon" entry points exactly like a third party's.
SHIPPED_PLUGINS = [
    "flux_recon_core",
    "flux_recon_monnify",
    "flux_recon_opay",
    "flux_recon_fuspay",
    "flux_recon_generic",
]

setup(
    name="flux-recon",
    version="0.1.0",
    description="Payment-reconciliation microservice: verified provider webhooks matched to sales orders.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=find_packages(include=["flux_recon", "flux_recon.*"]) + SHIPPED_PLUGINS,
    package_dir={name: f"plugins/{name}" for name in SHIPPED_PLUGINS},
    package_data={
        **{name: ["README.md"] for name in SHIPPED_PLUGINS},
        # The console's pages and assets ship in the package: nothing is fetched at run time.
        "flux_recon.web.console": ["templates/console/*.html", "static/*"],
    },
    include_package_data=True,
    install_requires=[
        "flask>=3.1,<4",
        "flask-smorest>=0.47,<0.48",
        "marshmallow>=4.0,<5",
        "peewee>=4.5,<5",
        "pluggy>=1.5,<2",
        "gunicorn>=23",
        "cryptography>=44",
        "psycopg[binary]>=3.2,<4",
        "swagger-ui-bundle>=1.1",
        "flask-limiter>=4,<5",
        "redis>=5",
        # 2.8: the release tested with Retry(retry_after_max=...), which reads Retry-After.
        "urllib3>=2.8",
        "standardwebhooks>=1.1",
        "prometheus-client>=0.20",
        # The merchant console: password hashes, TOTP second factor, its QR code, CSRF tokens.
        "argon2-cffi>=23.1",
        "pyotp>=2.9",
        "segno>=1.6",
        "flask-wtf>=1.2",
    ],
    extras_require={
        "test": [
            "pytest>=8",
            "hypothesis>=6.100",
            "openapi-spec-validator>=0.7",
            "openapi-schema-validator>=0.6",
            "schemathesis>=4.3",
            "ruff>=0.6",
            "import-linter>=2.1",
            # Drives the system's Chromium (never a downloaded browser) in the console tests.
            "playwright>=1.45",
        ],
    },
    entry_points={
        "console_scripts": ["flux-recon=flux_recon.cli:cli"],
        "flux_recon": [f"{name[len('flux_recon_') :]}={name}" for name in SHIPPED_PLUGINS],
    },
)
