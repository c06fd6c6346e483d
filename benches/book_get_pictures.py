"""The book's `_get_pictures` (Data Pipelines with Apache Airflow, listing 2.10), as a script.

    python3 book_get_pictures.py LAUNCHES_JSON TARGET_DIR

Uses `requests` as the book does when it is installed, else the standard library's urllib
(which the benchmark reports). One image after the other, as in the book.
"""
import json
import pathlib
import sys

try:
    import requests
    from requests import exceptions as requests_exceptions

    def get(url):
        return requests.get(url).content

    CLIENT = "requests"
    MISSING = (requests_exceptions.MissingSchema, requests_exceptions.ConnectionError)
except ImportError:  # pragma: no cover - depends on the machine
    import urllib.error
    import urllib.request

    def get(url):
        with urllib.request.urlopen(url) as response:
            return response.read()

    CLIENT = "urllib"
    MISSING = (ValueError, urllib.error.URLError)


def _get_pictures(launches_json, target_dir):
    pathlib.Path(target_dir).mkdir(parents=True, exist_ok=True)
    with open(launches_json) as f:
        launches = json.load(f)
        image_urls = [launch["image"] for launch in launches["results"]]
        for image_url in image_urls:
            try:
                content = get(image_url)
                image_filename = image_url.split("/")[-1]
                target_file = f"{target_dir}/{image_filename}"
                with open(target_file, "wb") as f:
                    f.write(content)
            except MISSING:
                print(f"{image_url} appears to be an invalid URL.")


if __name__ == "__main__":
    _get_pictures(sys.argv[1], sys.argv[2])
    print(CLIENT)
