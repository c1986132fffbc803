import { sveltekit } from '@sveltejs/kit/vite';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig, loadEnv } from 'vite';

// `npm run dev` forwards the API routes to a greentune API running locally
// (GREENTUNE_API_URL overrides the address).
export default defineConfig(({ mode }) => {
	const api = loadEnv(mode, '.', 'GREENTUNE_').GREENTUNE_API_URL || 'http://127.0.0.1:8000';
	return {
		plugins: [tailwindcss(), sveltekit()],
		// SvelteKit's own writeBundle step is slow by design; Rolldown's timing notice is just noise.
		build: { rolldownOptions: { checks: { bundlerTimings: false } } },
		server: {
			proxy: {
				'/api': { target: api, changeOrigin: true },
				'/v1': { target: api, changeOrigin: true }
			}
		}
	};
});
