import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Built into the Python package, served by the API under /ui/builder/ with a strict
// Content-Security-Policy: no inline script, so no module-preload polyfill injected inline.
export default defineConfig({
  base: "/ui/builder/",
  plugins: [react()],
  build: {
    outDir: "../src/journeyman/web/builder",
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1500,
  },
});
