"""The app registry: vendors, applications, releases, certification (issue 4)."""
