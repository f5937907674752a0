"""Map the repository layout onto import packages.

``plugins/naclgrid`` installs as ``naclgrid`` and ``plugins/corefarm`` as
``corefarm``; ``twisted/plugins`` holds only the twistd drop-in and must never
get an ``__init__.py`` (it would shadow Twisted's own plugin package).
"""

from setuptools import find_packages, setup

ROOTS = {"gridhost": "gridhost", "naclgrid": "plugins/naclgrid", "corefarm": "plugins/corefarm"}
DATA = ["*.wasm", "*.h", "*.json", "*.html", "*.css", "*.js", "*.c", "Makefile", "*.png", "*.txt", "*.toml"]

packages = []
package_dir = {"twisted.plugins": "twisted/plugins"}
for name, folder in ROOTS.items():
    packages.append(name)
    package_dir[name] = folder
    for sub in find_packages(folder):
        packages.append(f"{name}.{sub}")
packages.append("twisted.plugins")

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={name: DATA for name in packages if name != "twisted.plugins"},
)
