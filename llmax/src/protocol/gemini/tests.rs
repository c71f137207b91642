//! Unit tests of the Gemini request translation.
