"""Every run's trained weights: a store addressed by a URL (fsspec; a local folder by default, ``s3://`` in
production), written by the workers and read by the web app for downloads and by downstream runs."""
