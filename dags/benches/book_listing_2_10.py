"""The book's Rocket DAG (Data Pipelines with Apache Airflow, listing 2.10) for Airflow 2.8,
as the course runs it, with its two addresses and its folder taken from the environment so the
benchmark can point it at a local server:

    BOOK_LAUNCHES_URL   the Launch Library 2 "upcoming" URL
    BOOK_DATA_DIR       where launches.json and images/ go (the book: /tmp)

Same tasks as the book: curl for the launches, a Python loop over the images with requests,
one after the other, and a bash notify.
"""
import json
import os
import pathlib

import pendulum
import requests
import requests.exceptions as requests_exceptions
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator

DATA_DIR = os.environ.get("BOOK_DATA_DIR", "/tmp")
LAUNCHES_URL = os.environ.get(
    "BOOK_LAUNCHES_URL", "https://ll.thespacedevs.com/2.0.0/launch/upcoming"
)

dag = DAG(
    dag_id="book_listing_2_10",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule="@daily",
    catchup=False,
)

download_launches = BashOperator(
    task_id="download_launches",
    bash_command='curl -s -o "$BOOK_DATA_DIR/launches.json" -L "$BOOK_LAUNCHES_URL"',
    env={"BOOK_DATA_DIR": DATA_DIR, "BOOK_LAUNCHES_URL": LAUNCHES_URL},
    dag=dag,
)


def _get_pictures():
    images = pathlib.Path(DATA_DIR) / "images"
    images.mkdir(parents=True, exist_ok=True)
    with open(pathlib.Path(DATA_DIR) / "launches.json") as f:
        launches = json.load(f)
        image_urls = [launch["image"] for launch in launches["results"]]
        for image_url in image_urls:
            try:
                response = requests.get(image_url)
                image_filename = image_url.split("/")[-1]
                target_file = images / image_filename
                with open(target_file, "wb") as out:
                    out.write(response.content)
                print(f"Downloaded {image_url} to {target_file}")
            except requests_exceptions.MissingSchema:
                print(f"{image_url} appears to be an invalid URL.")
            except requests_exceptions.ConnectionError:
                print(f"Could not connect to {image_url}.")


get_pictures = PythonOperator(
    task_id="get_pictures", python_callable=_get_pictures, dag=dag
)

notify = BashOperator(
    task_id="notify",
    bash_command='echo "There are now $(ls "$BOOK_DATA_DIR/images/" | wc -l) images."',
    env={"BOOK_DATA_DIR": DATA_DIR},
    dag=dag,
)

download_launches >> get_pictures >> notify
