"""The patient portal as one product: whose file is shown, account pages, sessions."""
