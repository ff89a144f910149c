"""The Streamlit chat UI (`qa-engine app`): `streamlit_app.py` is the page, `helpers.py` its logic."""
