"""Site generation: convert the models, bundle the runtime, render the templates, write and serve site/."""
