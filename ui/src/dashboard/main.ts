// The office dashboard's entry (dashboard.html): same design system and catalogs as the app.
import { mount } from 'svelte';
import Dashboard from './Dashboard.svelte';
import '../app.css';
import './dashboard.css';
import { setupI18n } from '../lib/i18n';

setupI18n();
const app = mount(Dashboard, { target: document.getElementById('app')! });
export default app;
