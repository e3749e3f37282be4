"""`python -m crawler` runs the newswatch command line."""

from crawler.cli import main

if __name__ == "__main__":
    main()
