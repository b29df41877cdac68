# Names starting with "_" (files and folders) are never served or listed: /_draft is a 404.
from pywry.inline import show


def main():
    return show("<p>not ready</p>")
