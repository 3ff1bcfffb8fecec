// The joint review's "Print (A4)" link: the print stylesheet does the rest.
document.addEventListener("DOMContentLoaded", () => {
  const link = document.getElementById("print-review");
  if (link) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      window.print();
    });
  }
});
