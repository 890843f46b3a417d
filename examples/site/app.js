// Proves the script was served with a JavaScript type and ran.
const status = document.getElementById("status");
status.textContent = "JavaScript ran.";
status.className = "ran";
