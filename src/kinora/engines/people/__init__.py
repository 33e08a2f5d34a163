"""People in pictures: face boxes, the face mesh and the body pose (MediaPipe's models on
TFLite), for the lip-sync, character-animation and try-on engines.

:mod:`.landmarks` runs the models; :mod:`.models` says which files they are and installs them
from MediaPipe's wheel. Import the functions from :mod:`kinora.engines.people.landmarks`: this
package's import stays free of the TFLite runtime.
"""
