"""The CalDAV door: every list a user sees is a calendar of VTODOs."""
